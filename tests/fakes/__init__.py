"""In-memory fakes of the ports, for tests that must not touch a network or a disk."""
