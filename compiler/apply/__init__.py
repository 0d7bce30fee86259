"""Apply stage: plan and push compiled objects to remote APIs; the only code that does HTTP."""
