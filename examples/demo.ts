/** `npm start`: the demo on the embedded defaults (in-memory store, outbox mailer). `PORT` overrides the port. */
import { createDemoApp } from './demo-app';
import { exitWith, listen } from './listen';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const baseUrl = process.env.BASE_URL ?? `http://localhost:${port}`;
  const { app, router } = await createDemoApp(baseUrl);
  const server = await listen(app, port, 'express-password-reset demo').catch(async (error: unknown) => {
    await router.close();
    throw error;
  });
  console.log(`express-password-reset demo: ${baseUrl}/ (sign in, forgot password, outbox)`);
  const stop = (): void => {
    server.close();
    void router.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch(exitWith);
