"""The command line of a school's hub: ``attendance hub``, ``attendance users``, ``attendance classes assign``.

Registered by :func:`attendance_core.cli.build_parser`; each command only calls the library.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..school import access
from ..config import Settings
from . import AUTHENTICATORS, DEFAULT_IP, DEFAULT_PORT

EXIT_OK = 0


def _cmd_hub(args, settings: Settings, out, err) -> int:
    from . import plan as hub_plan

    if args.district_files:
        from .district import write_district_files

        for path in write_district_files(args.district_files, settings, args.authenticator, args.image):
            print(path, file=out)
        return EXIT_OK
    plan = hub_plan.plan_hub(settings, args.ip, args.port, args.authenticator, args.config_file)
    if args.print_config:
        shown = json.loads(json.dumps(plan.hub_config))
        shown["teacher_server"] = plan.teacher_config
        json.dump(shown, out, indent=1, default=str)
        print(file=out)
        return EXIT_OK
    return hub_plan.run_hub(settings, plan, log=lambda line: print(line, file=out, flush=True))


def _cmd_users_add(args, settings: Settings, out, err) -> int:
    from ..terminal import read_new_password
    from . import plan as hub_plan
    from .accounts import set_account_password

    store, directory = hub_plan.open_directory(settings)
    try:
        name = access.normalize_user(args.name)
        others = [u.name for u in directory.users() if u.name != name]
        hub_plan.check_shared_records(settings, others + [name])
        password = None if args.no_password else read_new_password("Password: ")
        if password is not None:
            set_account_password(settings, name, password)
        user = directory.add_user(name, args.role)
    finally:
        store.close()
    login = "no password (the hub's LDAP or OAuth signs them in)" if password is None else "a password"
    print(f"{user.name}: {user.role}, {login}", file=out)
    return EXIT_OK


def _cmd_users_list(args, settings: Settings, out, err) -> int:
    from . import plan as hub_plan
    from .accounts import accounts

    store, directory = hub_plan.open_directory(settings)
    try:
        users = directory.users()
    finally:
        store.close()
    approved = accounts(settings)
    for name in sorted(set(approved) - {u.name for u in users}):
        users.append(access.User(name, "(signed up)"))
    print(f"{'user':<24} {'role':<12} {'login':<18} classes", file=out)
    for user in users:
        login = {True: "password", False: "awaits approval"}.get(approved.get(user.name), "hub's login")
        print(f"{user.name:<24} {user.role:<12} {login:<18} {', '.join(user.classes) or '-'}", file=out)
    return EXIT_OK


def _cmd_classes_assign(args, settings: Settings, out, err) -> int:
    from . import plan as hub_plan

    store, directory = hub_plan.open_directory(settings)
    try:
        if args.remove:
            directory.unassign(args.class_name, args.teacher)
            print(f"{access.normalize_user(args.teacher)} no longer teaches {args.class_name}", file=out)
            return EXIT_OK
        user = directory.assign(args.class_name, args.teacher)
    finally:
        store.close()
    print(f"{user.name} teaches {', '.join(user.classes)}", file=out)
    from ..school import listed_classes, school_classes

    listed = listed_classes(settings)
    known = school_classes(settings, listed)
    if (listed or settings.classes_dir) and args.class_name.strip() not in known:
        # The dashboard offers only the school's classes: an assignment by another name shows nothing.
        print(f"warning: no class list or classes_dir folder names the class {args.class_name.strip()!r} yet "
              f"(the school's classes: {', '.join(known)})", file=err)
    return EXIT_OK


def add_commands(sub) -> None:
    """Add ``hub`` and ``users`` to the ``attendance`` command's subparsers ``sub``."""
    p = sub.add_parser("hub", help="serve the dashboard to a whole school on JupyterHub, one login per teacher "
                                   "(see docs/hub.md)")
    p.add_argument("--ip", default=DEFAULT_IP, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8000)")
    p.add_argument("--authenticator", choices=list(AUTHENTICATORS), default="native",
                   help="how teachers sign in (default native: they sign up, an admin approves)")
    p.add_argument("--hub-config", dest="config_file", type=Path, metavar="FILE",
                   help="a jupyterhub_config.py read after ours (LDAP server, OAuth client id...)")
    p.add_argument("--print-config", action="store_true", help="print the hub's configuration and exit")
    p.add_argument("--district-files", type=Path, metavar="FOLDER",
                   help="write a district's files into FOLDER and exit: Zero to JupyterHub's Helm values, the "
                        "dashboard's and API's Deployments, the pool's DaskCluster (see docs/hub.md)")
    p.add_argument("--image", default="smart-attendance:latest", metavar="NAME:TAG",
                   help="with --district-files: the image built from deploy/district/Dockerfile (the hub's: NAME-hub:TAG)")
    p.set_defaults(func=_cmd_hub)

    p = sub.add_parser("users", help="the hub's users and their roles (teacher, admin)")
    users = p.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    q = users.add_parser("add", help="add a user (password on standard input), or change their role")
    q.add_argument("name", metavar="NAME", help="the user's login name")
    q.add_argument("--role", choices=list(access.ROLES), required=True)
    q.add_argument("--no-password", action="store_true",
                   help="no hub password: the hub signs them in through LDAP or OAuth")
    q.set_defaults(func=_cmd_users_add)
    q = users.add_parser("list", help="list the users, their roles, logins and classes")
    q.set_defaults(func=_cmd_users_list)


def add_classes_assign(classes_sub) -> None:
    """Add ``assign`` to the subparsers of ``attendance classes``."""
    q = classes_sub.add_parser("assign", help="make a teacher a teacher of a class (only admins see every class)")
    q.add_argument("class_name", metavar="CLASS", help="the class, as the dashboard names it")
    q.add_argument("--teacher", required=True, metavar="NAME", help="the teacher's login name")
    q.add_argument("--remove", action="store_true", help="take the class away from the teacher instead")
    q.set_defaults(func=_cmd_classes_assign)

