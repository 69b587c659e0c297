"""The FAQ of the helpdesk: Markdown entries, a French analyser and a search engine that can abstain.

Standalone: imports nothing from `helpdesk` or `channels`.
"""

from knowledge_base.loader import Entry, KbError, KbLoadError, check, load_entries
from knowledge_base.search import KnowledgeBase, Suggestion

__all__ = ["Entry", "KbError", "KbLoadError", "KnowledgeBase", "Suggestion", "check", "load_entries"]
