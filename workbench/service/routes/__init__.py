"""One module of thin routes per domain: parse, call the operation, answer."""
