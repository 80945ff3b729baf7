"""The pure sync logic: transforms, value mapping, planning and merging. No I/O here."""
