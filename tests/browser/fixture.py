"""Pick demo people for the e-ID browser tests, one set per language.

Usage: python3 fixture.py CIVITAS_DB > fixture.json. Each set has a citizen who
registers online, a family (parent and a child under 14) enrolled at level 2 by a
police officer of their commune, a business whose legal representative opens
its organisation account, and a citizen with a level-2 account (made by the
smoke test like the officers') who adds a passkey, and one who gets a digital
signature and signs a PDF. Nobody appears in two roles.
"""
import json
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
officials = {r[0] for r in db.execute("SELECT citizen_id FROM officials")}
reps = {r[0] for r in db.execute("SELECT legal_rep_citizen_id FROM businesses")}
used = set(officials) | set(reps)
sets = []
registrants = db.execute(
    "SELECT citizen_id, full_name, birth_date, phone FROM persons WHERE phone <> '' "
    "AND birth_date BETWEEN '1960-01-01' AND '1995-01-01' ORDER BY citizen_id").fetchall()
families = db.execute(
    "SELECT p.citizen_id, p.full_name, c.citizen_id, c.full_name, o.citizen_id, o.agency_code "
    "FROM persons p JOIN persons c ON c.household_id = p.household_id AND c.birth_date > '2013-01-01' "
    "JOIN officials o ON o.agency_code = 'X' || p.unit_code || '.CA' AND o.role = 'police_officer' "
    "WHERE p.birth_date BETWEEN '1960-01-01' AND '2000-01-01' ORDER BY p.household_id, p.citizen_id").fetchall()
businesses = db.execute("SELECT reg_number, name, legal_rep_citizen_id FROM businesses ORDER BY reg_number").fetchall()
households = set()
# Families first: since the registries grew, officials and business
# representatives are half the people, and few households with a child under
# 14 are left; registrants are plentiful.
fams = []
for _ in range(3):
    fam = next(f for f in families if f[0] not in used and f[2] not in used
               and db.execute("SELECT household_id FROM persons WHERE citizen_id = ?", (f[0],)).fetchone()[0] not in households)
    households.add(db.execute("SELECT household_id FROM persons WHERE citizen_id = ?", (fam[0],)).fetchone()[0])
    used.update((fam[0], fam[2]))
    fams.append(fam)
for lang, fam in zip(("vi", "en", "ar"), fams):
    reg = next(r for r in registrants if r[0] not in used)
    used.add(reg[0])
    pk = next(r for r in registrants if r[0] not in used)
    used.add(pk[0])
    signer = next(r for r in registrants if r[0] not in used)
    used.add(signer[0])
    biz = next(b for b in businesses if b[2] not in officials and all(b[0] != s["business"]["reg_number"] for s in sets)
               and all(b[2] != s["business"]["rep"] for s in sets))
    sets.append({
        "lang": lang,
        "registrant": dict(zip(("citizen_id", "full_name", "birth_date", "phone"), reg)),
        "parent": {"citizen_id": fam[0], "full_name": fam[1]},
        "child": {"citizen_id": fam[2], "full_name": fam[3]},
        "officer": {"citizen_id": fam[4], "agency": fam[5]},
        "business": {"reg_number": biz[0], "name": biz[1], "rep": biz[2]},
        "passkey": {"citizen_id": pk[0], "full_name": pk[1]},
        "signer": {"citizen_id": signer[0], "full_name": signer[1]},
    })
json.dump(sets, sys.stdout, ensure_ascii=False, indent=1)
