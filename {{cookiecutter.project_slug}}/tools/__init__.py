# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Developer tools for this project."""
