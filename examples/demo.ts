/** `npm start`: the demo on the embedded defaults (in-memory store, outbox mailer). `PORT` overrides the port. */
import { createDemoApp } from './demo-app';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const baseUrl = process.env.BASE_URL ?? `http://localhost:${port}`;
  const { app, router } = await createDemoApp(baseUrl);
  const server = app.listen(port, () => {
    console.log(`express-password-reset demo: ${baseUrl}/ (sign in, forgot password, outbox)`);
  });
  const stop = (): void => {
    server.close();
    void router.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
