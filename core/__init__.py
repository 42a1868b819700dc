"""MCP Pulse core: settings, storage, domain logic. Never imports streamlit."""
