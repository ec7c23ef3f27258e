"""The server-rendered web app: thin views over gateway, catalog and providers services."""
