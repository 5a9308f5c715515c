"""Run and test the pipeline on this machine: no AWS account, no Docker."""
