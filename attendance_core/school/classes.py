"""Which classes a school has, and the roster of each: class lists, ``classes_dir`` folders, or the roster folder."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..results import CONSENT_NOT_ASKED
from ..roster import Enrolment, Roster, display_name, load_roster, roster_entries

if TYPE_CHECKING:
    from ..config import Settings
    from ..encoding_cache import CachedFaces
    from ..faces import DetectorSettings
    from ..records import Store

def _store(settings: "Settings", store: "Store | None") -> "Store | None":
    from ..records import Store

    if store is not None:
        return store
    return Store.from_settings(settings) if Store.exists(settings) else None


def listed_classes(settings: "Settings") -> list[str]:
    """The classes whose list was imported (none without a records database), sorted."""
    from ..records import Store

    if not Store.exists(settings):
        return []
    with Store.from_settings(settings) as store:
        return store.listed_classes()


def school_classes(settings: "Settings", listed: list[str] | None = None) -> dict[str, Path]:
    """The school's classes, class name -> the roster folder its reference photos are in; one source per class.

    - A class with an imported class list: its students by id, in the roster folder (``roster_dir``).
    - Each folder of ``classes_dir`` (a roster folder per class) whose name no class list uses: a
      class list and a folder naming the same class make the class list the source (it holds ids
      and consent), and the folder is not offered.
    - Without ``classes_dir``: the roster folder itself too, named after itself (a one-class school).

    listed: the classes with a list (default: from the records, none without a records database).
    The names are the ones ``attendance classes assign`` gives teachers on a hub.
    """
    listed = listed_classes(settings) if listed is None else listed
    roster_dir = Path(settings.roster_dir)
    classes = {name: roster_dir for name in listed}
    folders = Path(settings.classes_dir) if settings.classes_dir else None
    if folders is not None and folders.is_dir():
        for folder in sorted(p for p in folders.iterdir() if p.is_dir() and not p.name.startswith(".")):
            classes.setdefault(display_name(folder.name), folder)
    else:
        classes.setdefault(display_name(roster_dir.name) or "class", roster_dir)
    return classes


def class_roster(settings: "Settings", class_name: str | None = None, detector: "DetectorSettings | None" = None,
                 progress: Callable[[int, int, str], None] | None = None, store: "Store | None" = None,
                 encode: "Callable[[Path], CachedFaces] | None" = None) -> Roster:
    """The roster of ``class_name``: its imported class list, else its folder in ``classes_dir``, else
    the whole roster folder (one-class school); see :func:`school_classes`.

    Names and consent come from the records when they hold them; without a records database this
    is :func:`roster.load_roster` of the folder. Raises FileNotFoundError without a roster folder.
    encode: how a reference photo missing from the cache is encoded (see :func:`roster.load_roster`).
    """
    from ..faces import DetectorSettings

    detector = detector or DetectorSettings(settings.detector, settings.min_face_size, settings.workers,
                                            settings.jitters)
    from ..records import RecordsError

    folder = Path(settings.roster_dir)
    try:
        opened = _store(settings, store)
    except RecordsError as err:
        # The records hold who refused consent: without them, recognising anyone could recognise them.
        raise RecordsError(f"{err}. Nobody is recognised until then: the records hold the students' consent "
                           "to face recognition") from None
    if opened is None:
        if class_name and settings.classes_dir:
            folder = school_classes(settings, listed=[]).get(class_name, folder)
        return load_roster(folder, detector, settings.cache_dir, progress, encode=encode)
    try:
        listed = opened.class_list(class_name) if class_name else None
        if listed is not None:
            students = [Enrolment(sid, name, consent or CONSENT_NOT_ASKED) for sid, name, consent in listed]
        else:
            if class_name and settings.classes_dir:
                folder = school_classes(settings, listed=[]).get(class_name, folder)
            known = {sid: (name, consent) for sid, name, consent in opened.register()}
            students = [Enrolment(sid, known.get(sid, (display_name(sid), None))[0], known.get(sid, ("", None))[1])
                        for sid, _ in roster_entries(folder)] if folder.is_dir() else None
    finally:
        if store is None:
            opened.close()
    return load_roster(folder, detector, settings.cache_dir, progress, students=students, encode=encode)

