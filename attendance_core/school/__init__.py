"""A school's rules in one place: classes, class lists, OneRoster, consent, retention, users and access.

Every front end (command line, dashboard, hub, the SIS API) shares these rules, over the two places
school data lives: the records database (students by id with their names and consent, classes as
lists of student ids, sessions and marks, users and class assignments) and the roster folder
(reference photos, a folder per student id).

- :mod:`.classes`: which classes there are (:func:`school_classes`) and the students to recognise in
  each (:func:`class_roster`); students without consent are in the roster but never encoded.
- :mod:`.classlist`: a ``student_id,name,class[,photo][,consent]`` CSV read (:func:`read_class_list`)
  and imported (:func:`import_class_list`); importing the same file again changes nothing.
- :mod:`.oneroster`: a OneRoster 1.1 / 1.2 CSV bundle (bulk or delta) imported in one transaction
  (:func:`import_oneroster`): students, classes, enrolments, teachers and their classes; a mass removal held.
  :mod:`.oneroster_read` reads the bundle (folder or ZIP) as outside input: sizes counted, rows streamed.
- :mod:`.consent`: :func:`set_consent`; refusing it deletes the student's cached encodings.
- :mod:`.retention`: :func:`purge` what is older than the retention period; :func:`export_student`
  (a subject access request).
- :mod:`.access`: users, roles (teacher / admin), class assignments; :class:`~.access.UserStore` is
  the records as one acting user may see them.
- :mod:`.commands`: the command line's part (``attendance classes import``, ``consent``, ``purge``,
  ``export-student``), thin: each command only calls the modules above.
"""
from .classes import class_roster, listed_classes, school_classes
from .classlist import ImportReport, import_class_list
from .consent import ConsentChange, set_consent
from .retention import PurgeReport, export_student, purge

__all__ = ["ConsentChange", "ImportReport", "PurgeReport", "class_roster", "export_student", "import_class_list",
           "listed_classes", "purge", "school_classes", "set_consent"]
