"""Template code every function of the pipeline shares, shipped as the PipelineRuntimeLayer (regenerated)."""
