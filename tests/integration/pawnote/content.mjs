// The school year's contents through the real pawnote (npm): holidays, the timetable's
// resources, gradebook and its PDF, menus, the account's iCal link; a parent switches child.
// Usage: node content.mjs <pawnote module dir> '{"url","kind","username","password","week","child","menuDate","fetch"}'
import { createRequire } from "node:module";

const require = createRequire(process.argv[2] + "/");
const pronote = require("pawnote");
const args = JSON.parse(process.argv[3]);
const out = {};
const fetched = async (url) => {
  const reply = await fetch(url, { redirect: "manual" });
  const bytes = Buffer.from(await reply.arrayBuffer());
  return { status: reply.status, type: reply.headers.get("content-type"), base64: bytes.toString("base64") };
};
try {
  const session = pronote.createSessionHandle();
  await pronote.loginCredentials(session, {
    url: args.url, kind: pronote.AccountKind[args.kind], username: args.username,
    password: args.password, deviceUUID: "pronote-dc-content",
  });
  out.holidays = session.instance.holidays.map((h) => ({ name: h.name, start: h.startDate.toISOString(), end: h.endDate.toISOString() }));
  out.children = session.user.resources.map((r) => r.name);
  if (typeof args.child === "number") pronote.use(session, args.child);
  out.name = session.userResource.name;
  const timetable = await pronote.timetableFromWeek(session, args.week);
  pronote.parseTimetable(session, timetable, { withCanceledClasses: true, withSuperposedCanceledClasses: true });
  const lessons = timetable.classes.filter((c) => c.is === "lesson");
  out.lessons = lessons.map((c) => ({ id: c.id, status: c.status ?? null, canceled: c.canceled, rooms: c.classrooms, resource: c.lessonResourceID ?? null }));
  out.resources = [];
  for (const lesson of lessons.filter((c) => c.lessonResourceID)) {
    const resource = await pronote.resource(session, lesson.lessonResourceID);
    out.resources.push({
      lesson: lesson.id, id: resource.id, subject: resource.subject.name,
      contents: resource.contents.map((c) => ({ id: c.id, title: c.title, category: c.category, categoryText: c.categoryText,
        files: c.files.map((f) => ({ id: f.id, kind: f.kind, name: f.name, url: f.url })) })),
    });
  }
  const file = out.resources.flatMap((r) => r.contents.flatMap((c) => c.files)).find((f) => f.kind === 1);
  if (file && args.fetch) out.file = { id: file.id, ...(await fetched(file.url)) };
  const tab = session.userResource.tabs.get(pronote.TabLocation.Grades);
  const period = tab.defaultPeriod;
  out.period = period.name;
  const grades = await pronote.gradesOverview(session, period);
  out.grades = grades.grades.map((g) => g.id);
  const book = await pronote.gradebook(session, period);
  out.gradebook = {
    subjects: book.subjects.map((s) => ({ name: s.subject.name, student: s.averages.student, classOverall: s.averages.classOverall, min: s.averages.min, max: s.averages.max, assessments: s.assessments })),
    overall: book.overallAssessments.map((a) => a.value),
    url: book.url,
  };
  if (args.fetch) out.gradebookFile = await fetched(book.url);
  const menus = await pronote.menus(session, new Date(args.menuDate));
  out.menus = menus.days.map((d) => ({ date: d.date.toISOString(), lunch: d.lunch ? { name: d.lunch.name, main: d.lunch.main?.map((f) => f.name), labels: d.lunch.main?.flatMap((f) => f.labels.map((l) => l.name)) } : null, dinner: d.dinner ? d.dinner.name : null }));
  out.containsDinner = menus.containsDinner;
  const account = await pronote.account(session);
  out.account = { email: account.email, phone: account.phone, INE: account.INE, postalCode: account.postalCode, city: account.city };
  out.icalURL = pronote.timetableICalURL(session, account.iCalToken);
  if (args.fetch) out.ical = await fetched(out.icalURL);
} catch (error) {
  out.error = error?.name ?? String(error);
  out.message = String(error?.message ?? error);
  out.stack = String(error?.stack ?? "");
}
console.log(JSON.stringify(out));
