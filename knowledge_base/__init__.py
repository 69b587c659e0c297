"""The FAQ of the helpdesk: Markdown entries, a French analyser and a search engine that decides per purpose.

Standalone: imports nothing from `helpdesk` or `channels`. The API for the app:

- `KnowledgeBase.load(dir)` / `KnowledgeBase.from_entries(entries)`;
- `kb.search(text, limit=3, purpose="chat")` and `kb.search_conversation(messages, limit=3, purpose="staff")`
  with purpose "staff" (always ranked, labelled), "chat" (abstains unless likely) or "mail" (nearly certain,
  at most two); each `Suggestion` has `id`, `title`, `score` (confidence), `snippet` and `label`;
- `kb.add_wordings([(entry_id, wording), ...])` to index accepted wordings at once (`WordingsAdded` says what
  was done), `kb.wordings` and `kb.entries` (with them) for `kb export` (`export.entry_markdown`);
- `render.to_plain_text(body)` for email, `render.to_telegram_html(body)` for Telegram.
"""

from knowledge_base.loader import Entry, KbError, KbLoadError, check, load_entries
from knowledge_base.render import to_plain_text, to_telegram_html
from knowledge_base.search import PURPOSES, KnowledgeBase, Purpose, Suggestion, UnknownPurpose, WordingsAdded

__all__ = ["PURPOSES", "Entry", "KbError", "KbLoadError", "KnowledgeBase", "Purpose", "Suggestion",
           "UnknownPurpose", "WordingsAdded", "check", "load_entries", "to_plain_text", "to_telegram_html"]
