"""The command line: click commands (one module per group) that parse, call the engine, and print."""
