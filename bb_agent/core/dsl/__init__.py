"""The robot DSL front-end: grammar loading, parser, typed AST, printer and units.

Pipeline position: request text -> (builder) -> DSL text -> :mod:`.parser` ->
:mod:`.program` AST -> :mod:`bb_agent.core.check`.
"""
