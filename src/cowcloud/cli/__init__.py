"""The `cowcloud` command."""
