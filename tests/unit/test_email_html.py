"""HTML mail to text: Outlook's one-paragraph-per-line and &nbsp; paragraphs leave no stray blank lines."""

from __future__ import annotations

from channels.email.html import to_text
from channels.email.visible_text import visible_text

OUTLOOK = (
    '<html><body lang=FR><div class=WordSection1>'
    '<p class=MsoNormal>Bonjour,<o:p></o:p></p>'
    '<p class=MsoNormal><o:p>&nbsp;</o:p></p>'
    '<p class=MsoNormal>Je voudrais publier notre budget.<o:p></o:p></p>'
    '<p class=MsoNormal>Pouvez-vous m\'aider ?<o:p></o:p></p>'
    '<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>'
    '<p class=MsoNormal>Cordialement,<o:p></o:p></p>'
    '<p class=MsoNormal><b>Martine Dupuis</b><o:p></o:p></p>'
    '<p class=MsoNormal>Mairie de Murat – 04 71 20 03 80<o:p></o:p></p>'
    '<p class=MsoNormal><o:p>&nbsp;</o:p></p>'
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>De&nbsp;:</b> Assistance CRAIG '
    '&lt;assistance@craig.fr&gt;<br><b>Envoyé&nbsp;:</b> lundi 2 mars 2026 09:12<br><b>À&nbsp;:</b> Mairie<br>'
    '<b>Objet&nbsp;:</b> [#1042] Budget<o:p></o:p></p></div>'
    '<p class=MsoNormal>Bonjour, voici la marche à suivre.<o:p></o:p></p></div></body></html>'
)


def test_outlook_paragraphs_are_lines_and_nbsp_paragraphs_are_the_only_breaks() -> None:
    text = to_text(OUTLOOK)
    assert text.startswith("Bonjour,\n\nJe voudrais publier notre budget.\nPouvez-vous m'aider ?\n\nCordialement,\n")
    assert "\n\n\n" not in text and "\u00a0\n" not in text
    assert visible_text(text) == "Bonjour,\n\nJe voudrais publier notre budget.\nPouvez-vous m'aider ?"


def test_other_html_keeps_its_paragraphs_and_drops_lines_of_spaces() -> None:
    text = to_text("<p>Un.</p><p>&nbsp;</p><p>&#8203;</p><p>Deux.</p><div>&nbsp;&nbsp;</div><div>Trois.</div>")
    assert text == "Un.\n\nDeux.\n\nTrois."
