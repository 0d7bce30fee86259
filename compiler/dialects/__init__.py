"""Targets' expression dialects: generators from the shared expression AST."""
