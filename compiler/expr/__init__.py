"""Expression stage: PromQL text to our typed AST, with positions for errors."""
