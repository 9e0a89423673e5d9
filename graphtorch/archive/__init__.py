"""The .gt archive: container, manifest, validation."""
