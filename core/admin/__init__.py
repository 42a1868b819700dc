"""Admin changes and their audit log: users, teams and roles as an admin changes them, and the
entries (who, when, what, before, after; secrets masked) that every admin change writes.

No Streamlit and no SQL here: the seam (``core.seam.admin``) and the CLI (``core.cli.users``,
``core.cli.audit``) call these functions; ``core.storage.repos`` writes each change and its entry
in one transaction.
"""
