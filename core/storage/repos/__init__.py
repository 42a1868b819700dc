"""The application's repositories: plain records in, plain records out, SQL only here."""
