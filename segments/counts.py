"""The words for the audience counts, defined once (the whole vocabulary, with the message
counts, is ``campaigns.counts.TERMS``; the glossary page shows it): here because segments
counts them (``segments.actions.reach``) and its pages show them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str
    label: str
    definition: str


TERMS = (
    Term(
        "qualified",
        "Qualified",
        "People who matched the segment's rules when it was counted (the Who step and the segment"
        " builder estimate it), whether or not they can be reached.",
    ),
    Term(
        "reachable",
        "Reachable",
        "Qualified people with at least one device the campaign can reach (push allowed), of the "
        "kinds it targets: web, native apps or all; a run counts them when it starts, and its "
        "safety check compares them with the limit.",
    ),
    Term(
        "askable",
        "Can be asked",
        "For a Push permission request: qualified people with a web browser that supports push and "
        "has not been asked yet (push status Ask), whom its banner can ask. Counted over every "
        "website: Clarion does not record which website a browser was seen on. People at Ask who "
        "answered Maybe later are counted too; the banner waits out their days.",
    ),
)

# For the reach panels (the segment builder and the Who step): each count's definition on hover.
BY_NAME = {term.name: term for term in TERMS}
