"""Access control: the permission layer every route goes through, and the users/roles/keys service."""
