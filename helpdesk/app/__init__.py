"""Use cases: everything the service can do, called by the channels, the web and the CLI."""
