// An echo bot on @slack/bolt in Socket Mode, pointed at ringcast: the
// app of Bolt's getting-started guide, with the API URL as the only
// change. It prints "seen <text>" for every message its handler gets and
// "ready" once connected (node/bolt_test.go reads both).
const { App, LogLevel } = require('@slack/bolt');

const slackApiUrl = process.env.SLACK_API_URL;
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl },
  installerOptions: { clientOptions: { slackApiUrl } },
});

app.message(async ({ message, say }) => {
  console.log('seen ' + JSON.stringify(message.text));
  await say('echo: ' + message.text);
});

(async () => {
  await app.start();
  console.log('ready');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
