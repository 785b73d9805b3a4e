"""Orientation: a chatbot-free referral directory for social services (framework-free core)."""
