"""Event-log forensics for durable workflow engines, first of all Vercel's Workflow DevKit."""

__version__ = "0.1.0"
