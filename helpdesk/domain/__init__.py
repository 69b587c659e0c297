"""Pure rules of the helpdesk: standard library only, no clock calls, no I/O."""
