"""The api_json domain: its HTTP adapter."""
