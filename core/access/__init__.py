"""Who may do what (policy) and the accounts behind it (passwords, lockout, the first admin)."""
