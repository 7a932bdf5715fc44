// Logs in with the real pawnote (npm) and prints what it read as one JSON line.
// Usage: node check.mjs <pawnote module dir> '{"url","kind","username","password","week"}'
import { createRequire } from "node:module";

const require = createRequire(process.argv[2] + "/");
const pronote = require("pawnote");
const args = JSON.parse(process.argv[3]);
const out = {};
try {
  const session = pronote.createSessionHandle();
  await pronote.loginCredentials(session, {
    url: args.url,
    kind: pronote.AccountKind[args.kind],
    username: args.username,
    password: args.password,
    deviceUUID: "pronote-dc-test",
  });
  out.name = session.userResource.name;
  const timetable = await pronote.timetableFromWeek(session, args.week);
  pronote.parseTimetable(session, timetable, { withCanceledClasses: true, withSuperposedCanceledClasses: true });
  out.lessons = timetable.classes
    .filter((c) => c.is === "lesson")
    .map((c) => ({ id: c.id, subject: c.subject?.name, start: c.startDate.toISOString(), canceled: c.canceled }));
  const assignments = await pronote.assignmentsFromWeek(session, args.week);
  out.assignments = assignments.map((a) => ({ id: a.id, subject: a.subject.name }));
  const tab = session.userResource.tabs.get(pronote.TabLocation.Grades);
  out.period = tab.defaultPeriod.name;
  const grades = await pronote.gradesOverview(session, tab.defaultPeriod);
  out.grades = grades.grades.map((g) => ({ id: g.id, value: g.value.points ?? null, kind: g.value.kind }));
  out.averages = grades.subjectsAverages.map((s) => ({ subject: s.subject.name, student: s.student?.points ?? null }));
  const news = await pronote.news(session);
  out.news = news.items.map((n) => n.title);
  const discussions = await pronote.discussions(session);
  out.discussions = discussions.items.map((d) => d.subject);
} catch (error) {
  out.error = error?.name ?? String(error);
  out.message = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
