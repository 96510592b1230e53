"""Security and completion hooks: sanitizing untrusted text, validating completion claims."""
