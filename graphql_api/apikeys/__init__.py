"""Partner API keys: one organization, a fixed role, only the operations of one manifest."""
