// pawnote against a PRONOTE school started by pronote-dc, with Node's own test runner:
//   npm install pawnote@1.6.2 && node --test pawnote.test.mjs
// (`pronote-dc-testing` comes with `pip install 'pronote-dc[testing]'`; set PRONOTE_DC_TESTING
// to another command, e.g. "/path/to/.venv/bin/pronote-dc-testing", if it is not on PATH.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import * as pronote from "pawnote";

const command = process.env.PRONOTE_DC_TESTING ?? "pronote-dc-testing";
let server; // the school's process: it serves until its stdin closes
let school; // {address, port, espaces: {eleve: {url, mobile_url}}, accounts: {eleve: {login, password}}, env}

before(async () => {
  server = spawn(command, ["school", "--date", "2026-12-10T08:00"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [line] = await once(createInterface({ input: server.stdout }), "line");
  school = JSON.parse(line);
});

after(async () => {
  server.stdin.end(); // stops the school and removes everything
  await once(server, "exit");
});

async function login(kind, role) {
  const session = pronote.createSessionHandle();
  await pronote.loginCredentials(session, {
    url: school.espaces[role].url,
    kind: pronote.AccountKind[kind],
    username: school.accounts[role].login,
    password: school.accounts[role].password,
    deviceUUID: "pronote-dc-example",
  });
  return session;
}

test("a student reads this week's timetable", async () => {
  const session = await login("STUDENT", "eleve");
  assert.ok(session.userResource.name);
  const week = pronote.translateToWeekNumber(new Date("2026-12-10"), session.instance.firstMonday);
  const timetable = await pronote.timetableFromWeek(session, week);
  assert.ok(timetable.classes.length > 0);
});

test("a wrong password is refused", async () => {
  const session = pronote.createSessionHandle();
  await assert.rejects(
    pronote.loginCredentials(session, {
      url: school.espaces.eleve.url,
      kind: pronote.AccountKind.STUDENT,
      username: school.accounts.eleve.login,
      password: "wrong",
      deviceUUID: "pronote-dc-example",
    }),
  );
});

test("the simulated clock moves when the test says so", async () => {
  const advance = (date) =>
    execFileSync("pronote-dc", ["clock", "advance", date, "--json"], {
      env: { ...process.env, ...school.env },
    });
  const reply = JSON.parse(advance("2027-01-11T08:00"));
  assert.ok(reply.now_seconds >= Date.parse("2027-01-11T08:00Z") / 1000);
});
