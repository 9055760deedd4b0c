"""Every key of the table is built here, and nowhere else.

Access patterns (pk / sk; GSIs in brackets):

Users (global)
  user profile ............... USER#<uid> / PROFILE
  user's memberships ......... [gsi1] USER#<uid> / ORG#<oid>           (membership items)
  user's notifications ....... USER#<uid> / NOTIF#<time>#<nid>          (newest first)
  user's assignments ......... [gsi1] USER#<uid>#ASSIGN / <due>#<aid>   (assignee items)

Organizations (every org-scoped partition key starts with ORG#<oid>)
  organization ............... ORG#<oid> / META
  slug uniqueness (global) ... SLUG#<slug> / SLUG
  member ..................... ORG#<oid> / MEMBER#<uid>
  invitation ................. ORG#<oid> / INVITE#<iid>
  audit entry ................ ORG#<oid>#AUDIT / <time>#<eid>
      by entity .............. [gsi1] ORG#<oid>#AUDIT#ENTITY#<entityId> / <time>#<eid>
      by actor ............... [gsi2] ORG#<oid>#AUDIT#ACTOR#<uid> / <time>#<eid>
  team ....................... ORG#<oid> / TEAM#<tid>
  team member ................ ORG#<oid> / TEAMMEMBER#<tid>#<uid>
      user's teams in org .... [gsi1] ORG#<oid>#USERTEAMS#<uid> / <tid>
  checklist (head) ........... ORG#<oid> / CHECKLIST#<cid>
  checklist version .......... ORG#<oid> / CHECKLISTV#<cid>#<version:08d>
      a checklist's versions . ORG#<oid> / begins_with CHECKLISTV#<cid>#  (numeric order)
  assignment ................. ORG#<oid> / ASSIGN#<aid>
      org list by due ........ [gsi1] ORG#<oid>#ASSIGNMENTS / <due>#<aid>
  assignee index ............. ORG#<oid> / ASSIGNEE#<uid>#<aid>
      (gsi1 as "user's assignments" above; gsi2 ORG#<oid>#ASSIGNEE#<uid> / <due>#<aid>)
  team assignment index ...... ORG#<oid> / ASSIGNTEAM#<tid>#<aid>
      [gsi2] ORG#<oid>#ASSIGNTEAM#<tid> / <due>#<aid>
  run ........................ ORG#<oid>#RUN#<rid> / META
      org's runs ............. [gsi1] ORG#<oid>#RUNS / <time>#<rid>
  run item state ............. ORG#<oid>#RUN#<rid> / ITEM#<itemId>
  run event .................. ORG#<oid>#RUN#<rid> / EVENT#<version:010d>
  run comment ................ ORG#<oid>#RUN#<rid> / COMMENT#<time>#<cid>
  file / upload .............. ORG#<oid> / FILE#<fid>
      files of a target ...... [gsi1] ORG#<oid>#FILES#<target> / <completedAt>#<fid>  (READY)
  pending upload marker ...... ORG#<oid> / PENDINGUPLOAD#<expiresAt>#<fid>
      live ones: sk between PENDINGUPLOAD#<now> and PENDINGUPLOAD#\uffff (consistent;
      the quota counts them, expired ones drop out by their key alone)
  api key .................... ORG#<oid> / APIKEY#<kid>
  api key lookup (global) .... APIKEY#<prefix> / APIKEY
  persisted operation ........ ORG#<oid> / PQ#<client>#<opId>
  persisted query manifest ... ORG#<oid> / PQMANIFEST#<client>          (head: current manifestId)
      an org's manifests ..... ORG#<oid> / begins_with PQMANIFEST#
  manifest operation ......... ORG#<oid> / PQOP#<client>#<manifestId>#<opId>
      (one set per registration, so a new manifest replaces the old one atomically by
      switching the head; a registration's set: begins_with PQOP#<client>#<manifestId>#)
  idempotency record ......... IDEM#<principal>#<key> / IDEM

S3 objects (not table keys; built here too so the layout is in one place)
  uploaded file .............. org/<oid>/files/<fid>/<sanitized name>
      (tagged PENDING_UPLOAD_TAG until completed: the lifecycle rule expires the rest)
"""

from __future__ import annotations

from typing import TypedDict

MAX_SORT = "\uffff"


class Key(TypedDict):
    pk: str
    sk: str


def _k(pk: str, sk: str) -> Key:
    return {"pk": pk, "sk": sk}


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


# users -------------------------------------------------------------------
def user(uid: str) -> Key:
    return _k(f"USER#{uid}", "PROFILE")


def user_memberships_gsi(uid: str) -> str:
    return f"USER#{uid}"


def notification(uid: str, time: str, nid: str) -> Key:
    return _k(f"USER#{uid}", f"NOTIF#{time}#{nid}")


def notifications_pk(uid: str) -> str:
    return f"USER#{uid}"


NOTIF_PREFIX = "NOTIF#"


def user_assignments_gsi(uid: str) -> str:
    return f"USER#{uid}#ASSIGN"


# organizations -----------------------------------------------------------
def org(org_id: str) -> Key:
    return _k(org_pk(org_id), "META")


def slug(slug_value: str) -> Key:
    return _k(f"SLUG#{slug_value}", "SLUG")


def member(org_id: str, uid: str) -> Key:
    return _k(org_pk(org_id), f"MEMBER#{uid}")


MEMBER_PREFIX = "MEMBER#"


def membership_gsi(org_id: str, uid: str) -> dict[str, str]:
    return {"gsi1pk": user_memberships_gsi(uid), "gsi1sk": org_pk(org_id)}


def invitation(org_id: str, iid: str) -> Key:
    return _k(org_pk(org_id), f"INVITE#{iid}")


INVITE_PREFIX = "INVITE#"


# audit -------------------------------------------------------------------
def audit_pk(org_id: str) -> str:
    return f"ORG#{org_id}#AUDIT"


def audit_entity_gsi(org_id: str, entity_id: str) -> str:
    return f"ORG#{org_id}#AUDIT#ENTITY#{entity_id}"


def audit_actor_gsi(org_id: str, actor_id: str) -> str:
    return f"ORG#{org_id}#AUDIT#ACTOR#{actor_id}"


def audit_entry(org_id: str, time: str, eid: str, entity_id: str, actor_id: str) -> dict[str, str]:
    sort = f"{time}#{eid}"
    return {
        "pk": audit_pk(org_id),
        "sk": sort,
        "gsi1pk": audit_entity_gsi(org_id, entity_id),
        "gsi1sk": sort,
        "gsi2pk": audit_actor_gsi(org_id, actor_id),
        "gsi2sk": sort,
    }


# teams -------------------------------------------------------------------
def team(org_id: str, tid: str) -> Key:
    return _k(org_pk(org_id), f"TEAM#{tid}")


TEAM_PREFIX = "TEAM#"


def team_member(org_id: str, tid: str, uid: str) -> dict[str, str]:
    return {
        "pk": org_pk(org_id),
        "sk": f"TEAMMEMBER#{tid}#{uid}",
        "gsi1pk": f"ORG#{org_id}#USERTEAMS#{uid}",
        "gsi1sk": tid,
    }


def team_members_prefix(tid: str) -> str:
    return f"TEAMMEMBER#{tid}#"


def user_teams_gsi(org_id: str, uid: str) -> str:
    return f"ORG#{org_id}#USERTEAMS#{uid}"


# checklists --------------------------------------------------------------
def checklist(org_id: str, cid: str) -> Key:
    return _k(org_pk(org_id), f"CHECKLIST#{cid}")


CHECKLIST_PREFIX = "CHECKLIST#"


def checklist_version(org_id: str, cid: str, version: int) -> Key:
    return _k(org_pk(org_id), f"CHECKLISTV#{cid}#{version:08d}")


def checklist_versions_prefix(cid: str) -> str:
    return f"CHECKLISTV#{cid}#"


# assignments -------------------------------------------------------------
def assignment(org_id: str, aid: str, due: str) -> dict[str, str]:
    return {
        "pk": org_pk(org_id),
        "sk": f"ASSIGN#{aid}",
        "gsi1pk": f"ORG#{org_id}#ASSIGNMENTS",
        "gsi1sk": f"{due}#{aid}",
    }


def assignment_key(org_id: str, aid: str) -> Key:
    return _k(org_pk(org_id), f"ASSIGN#{aid}")


def org_assignments_gsi(org_id: str) -> str:
    return f"ORG#{org_id}#ASSIGNMENTS"


def assignee_index(org_id: str, uid: str, aid: str, due: str) -> dict[str, str]:
    return {
        "pk": org_pk(org_id),
        "sk": f"ASSIGNEE#{uid}#{aid}",
        "gsi1pk": user_assignments_gsi(uid),
        "gsi1sk": f"{due}#{aid}",
        "gsi2pk": f"ORG#{org_id}#ASSIGNEE#{uid}",
        "gsi2sk": f"{due}#{aid}",
    }


def assignee_gsi(org_id: str, uid: str) -> str:
    return f"ORG#{org_id}#ASSIGNEE#{uid}"


def team_assignment_index(org_id: str, tid: str, aid: str, due: str) -> dict[str, str]:
    return {
        "pk": org_pk(org_id),
        "sk": f"ASSIGNTEAM#{tid}#{aid}",
        "gsi2pk": team_assignments_gsi(org_id, tid),
        "gsi2sk": f"{due}#{aid}",
    }


def team_assignments_gsi(org_id: str, tid: str) -> str:
    return f"ORG#{org_id}#ASSIGNTEAM#{tid}"


# runs --------------------------------------------------------------------
def run_pk(org_id: str, rid: str) -> str:
    return f"ORG#{org_id}#RUN#{rid}"


def run(org_id: str, rid: str, created: str) -> dict[str, str]:
    return {
        "pk": run_pk(org_id, rid),
        "sk": "META",
        "gsi1pk": org_runs_gsi(org_id),
        "gsi1sk": f"{created}#{rid}",
    }


def run_key(org_id: str, rid: str) -> Key:
    return _k(run_pk(org_id, rid), "META")


def org_runs_gsi(org_id: str) -> str:
    return f"ORG#{org_id}#RUNS"


def run_item(org_id: str, rid: str, item_id: str) -> Key:
    return _k(run_pk(org_id, rid), f"ITEM#{item_id}")


RUN_ITEM_PREFIX = "ITEM#"


def run_event(org_id: str, rid: str, version: int) -> Key:
    return _k(run_pk(org_id, rid), run_event_sk(version))


def run_event_sk(version: int) -> str:
    return f"EVENT#{version:010d}"


def run_comment(org_id: str, rid: str, time: str, cid: str) -> Key:
    return _k(run_pk(org_id, rid), f"COMMENT#{time}#{cid}")


RUN_COMMENT_PREFIX = "COMMENT#"


# files, api keys, persisted operations, idempotency ----------------------
def file(org_id: str, fid: str) -> Key:
    return _k(org_pk(org_id), f"FILE#{fid}")


FILE_PREFIX = "FILE#"


def api_key(org_id: str, kid: str) -> Key:
    return _k(org_pk(org_id), f"APIKEY#{kid}")


API_KEY_PREFIX = "APIKEY#"


def api_key_lookup(prefix: str) -> Key:
    return _k(f"APIKEY#{prefix}", "APIKEY")


def persisted_operation(org_id: str, client: str, op_id: str) -> Key:
    return _k(org_pk(org_id), f"PQ#{client}#{op_id}")


def persisted_operations_prefix(client: str) -> str:
    return f"PQ#{client}#"


def idempotency(principal: str, key: str) -> Key:
    return _k(f"IDEM#{principal}#{key}", "IDEM")


def persisted_manifest(org_id: str, client: str) -> Key:
    return _k(org_pk(org_id), f"PQMANIFEST#{client}")


PERSISTED_MANIFEST_PREFIX = "PQMANIFEST#"


def manifest_operation(org_id: str, client: str, manifest_id: str, op_id: str) -> Key:
    return _k(org_pk(org_id), f"PQOP#{client}#{manifest_id}#{op_id}")


def manifest_operations_prefix(client: str, manifest_id: str) -> str:
    return f"PQOP#{client}#{manifest_id}#"


# files (S3 layout and the table items of uploads) ------------------------
def file_target_gsi(org_id: str, target: str) -> str:
    """Files attached to one target (`target` from media: e.g. RUN#<rid>#<itemId>)."""
    return f"ORG#{org_id}#FILES#{target}"


def file_listing(org_id: str, target: str, completed_at: str, fid: str) -> dict[str, str]:
    return {"gsi1pk": file_target_gsi(org_id, target), "gsi1sk": f"{completed_at}#{fid}"}


def pending_upload(org_id: str, expires_at: str, fid: str) -> Key:
    return _k(org_pk(org_id), f"{PENDING_UPLOAD_PREFIX}{expires_at}#{fid}")


PENDING_UPLOAD_PREFIX = "PENDINGUPLOAD#"


# An upload's object carries this tag until completeUpload accepts it; the bucket's lifecycle
# rule (infra/stacks/data.py) expires tagged objects, so abandoned uploads do not stay.
PENDING_UPLOAD_TAG = ("upload", "pending")


def file_object(org_id: str, fid: str, safe_name: str) -> str:
    """The S3 key of a file: always under org/<oid>/, the name already sanitized."""
    return f"org/{org_id}/files/{fid}/{safe_name}"
