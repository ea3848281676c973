"""Use cases, one module each: account, search, options, download, cleanup.

No typer or rich here: use cases take a :class:`~m2mdl.workflow.context.Context` and report
through its Reporter and a transfer ProgressSink, so the CLI, tests and library users can drive
them alike.
"""
