// What a pawnote-based app does, with the real pawnote (npm); prints one JSON line.
// Usage: node acts.mjs <pawnote module dir> '{"url","kind","username","password"|"token","deviceUUID","steps":[...]}'
//        or '{"qr": <request_qr_code_data>, "pin", "deviceUUID"}' (loginQrCode)
// Steps: instance, homepage, discussions, reply (to the first discussion), newsRead (the first
// unread information), assignmentDone (the first assignment of `week`).
import { createRequire } from "node:module";

const require = createRequire(process.argv[2] + "/");
const pronote = require("pawnote");
const args = JSON.parse(process.argv[3]);
const out = {};
try {
  if ((args.steps ?? []).includes("instance")) {
    const instance = await pronote.instance(args.url);
    out.instance = { name: instance.name, version: instance.version, accounts: instance.accounts, casURL: instance.casURL ?? null };
  }
  if (args.qr) {
    const session = pronote.createSessionHandle();
    const refresh = await pronote.loginQrCode(session, { deviceUUID: args.deviceUUID, pin: args.pin, qr: args.qr });
    out.name = session.userResource.name;
    out.token = refresh.token ?? null;
    out.username = refresh.username;
  }
  if (args.username) {
    const session = pronote.createSessionHandle();
    const kind = pronote.AccountKind[args.kind];
    const refresh = args.token
      ? await pronote.loginToken(session, { url: args.url, kind, username: args.username, token: args.token, deviceUUID: args.deviceUUID })
      : await pronote.loginCredentials(session, { url: args.url, kind, username: args.username, password: args.password, deviceUUID: args.deviceUUID });
    out.name = session.userResource.name;
    out.token = refresh.token ?? null;
    for (const step of args.steps ?? []) {
      if (step === "homepage") {
        const home = await pronote.homepage(session);
        out.homepage = { links: home.links.length };
      } else if (step === "discussions" || step === "reply") {
        const discussions = await pronote.discussions(session);
        out.discussions = discussions.items.map((d) => ({ subject: d.subject, unread: d.numberOfMessagesUnread }));
        if (step === "reply") {
          const discussion = discussions.items.find((d) => d.subject === args.subject) ?? discussions.items[0];
          await pronote.discussionMessages(session, discussion);
          await pronote.discussionSendMessage(session, discussion, args.text);
          out.messages = discussion.messages.sents.map((m) => ({ content: m.content, mine: m.author === undefined }));
        }
      } else if (step === "draft") {
        const discussions = await pronote.discussions(session);
        const discussion = discussions.items[0];
        await pronote.discussionMessages(session, discussion);
        await pronote.discussionCreateDraft(session, discussion, args.text);
        out.drafts = discussion.messages.drafts.map((d) => d.content);
        await pronote.discussionSendDraft(session, discussion, discussion.messages.drafts[0]);
        out.draftsAfter = discussion.messages.drafts.length;
        out.sent = discussion.messages.sents.some((m) => m.content.includes(args.text));
        await pronote.discussionCreateDraft(session, discussion, "brouillon perdu");
        await pronote.discussionRemoveDraft(session, discussion, discussion.messages.drafts[0]);
        out.draftsRemoved = discussion.messages.drafts.length;
      } else if (step === "newsRead") {
        const news = await pronote.news(session);
        const item = news.items.find((n) => n.is === "information" && !n.read);
        await pronote.newsRead(session, item, true);
        out.newsRead = item.id;
      } else if (step === "surveyAnswer") {
        const news = await pronote.news(session);
        const survey = news.items.find((n) => n.is === "survey");
        pronote.newsQuestionLocalMutate(survey.questions[0], [2]);
        await pronote.newsSurveySend(session, survey);
        const again = (await pronote.news(session)).items.find((n) => n.id === survey.id);
        out.survey = { id: survey.id, answered: again.questions[0].answered, selected: again.questions[0].selectedAnswers ?? null, read: again.read };
      } else if (step === "assignmentDone") {
        const assignments = await pronote.assignmentsFromWeek(session, args.week);
        await pronote.assignmentStatus(session, assignments[0].id, true);
        out.assignmentDone = assignments[0].id;
      } else if (step === "timetable") {
        const timetable = await pronote.timetableFromWeek(session, args.week);
        out.lessons = timetable.classes.length;
      } else if (step === "grades") {
        const tab = session.userResource.tabs.get(pronote.TabLocation.Grades);
        const grades = await pronote.gradesOverview(session, tab.defaultPeriod);
        out.grades = grades.grades.length;
      }
    }
  }
} catch (error) {
  out.error = error?.name ?? String(error);
  out.message = String(error?.message ?? error);
}
console.log(JSON.stringify(out));
