// Logs in with the real pawnote (npm) and prints, for every period of the Grades (198),
// Evaluations (201) and Notebook (19) tabs, what gradesOverview, evaluations and notebook read.
// Usage: node dated.mjs <pawnote module dir> '{"url","kind","username","password"}'
import { createRequire } from "node:module";

const require = createRequire(process.argv[2] + "/");
const pronote = require("pawnote");
const args = JSON.parse(process.argv[3]);
const out = { grades: {}, evaluations: {}, notebook: {} };
const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
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
  const tab = (location) => session.userResource.tabs.get(location);
  for (const period of tab(pronote.TabLocation.Grades).periods) {
    const overview = await pronote.gradesOverview(session, period);
    out.grades[period.name] = {
      grades: overview.grades.map((g) => ({ id: g.id, kind: g.value.kind, points: g.value.points ?? null, optional: g.isOptional, bonus: g.isBonus })),
      averages: overview.subjectsAverages.map((s) => ({ subject: s.subject.name, student: s.student?.points ?? null })),
      overall: overview.overallAverage?.points ?? null,
      classOverall: overview.classAverage?.points ?? null,
    };
  }
  for (const period of tab(pronote.TabLocation.Evaluations).periods) {
    const items = await pronote.evaluations(session, period);
    out.evaluations[period.name] = items.map((e) => ({
      id: e.id, subject: e.subject.name, teacher: e.teacher, date: day(e.date), levels: e.levels,
      skills: e.skills.map((s) => ({ abbreviation: s.abbreviation, level: s.level, item: s.itemName, domain: s.domainName, pillar: s.pillarPrefixes })),
    }));
  }
  for (const period of tab(pronote.TabLocation.Notebook).periods) {
    const notebook = await pronote.notebook(session, period);
    out.notebook[period.name] = {
      absences: notebook.absences.map((a) => ({ id: a.id, start: day(a.startDate), justified: a.justified, hours: a.hoursMissed, minutes: a.minutesMissed, reason: a.reason })),
      delays: notebook.delays.map((d) => ({ id: d.id, minutes: d.minutes, reason: d.reason })),
      punishments: notebook.punishments.map((p) => ({ id: p.id, title: p.title, giver: p.giver, circumstances: p.circumstances })),
    };
  }
} catch (error) {
  out.error = error?.name ?? String(error);
  out.message = String(error?.message ?? error);
  out.stack = String(error?.stack ?? "");
}
console.log(JSON.stringify(out));
