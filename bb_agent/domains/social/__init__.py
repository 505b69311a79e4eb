"""The social (chat) domain: the chat door's policy."""
