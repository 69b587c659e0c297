"""The live staff queue: notices between instances (the bus), who is on which ticket (presence)."""
