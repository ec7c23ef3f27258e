// The Vercel AI SDK's default OpenAI provider (the Responses API) against a live OpenProvider.
// Usage: node vercel_ai.mjs <generateText|streamText|generateObject>
// Reads OPENPROVIDER_BASE_URL, OPENPROVIDER_API_KEY and OPENPROVIDER_MODEL; prints one JSON
// line with what the SDK returned, for tests/gateway/test_responses_node_clients.py to check.
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const openai = createOpenAI({
  baseURL: process.env.OPENPROVIDER_BASE_URL,
  apiKey: process.env.OPENPROVIDER_API_KEY,
});
const model = openai(process.env.OPENPROVIDER_MODEL);

const weather = tool({
  description: "The weather in a city.",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

const scenarios = {
  async generateText() {
    const result = await generateText({ model, prompt: "Say hello", maxRetries: 0 });
    return { text: result.text, finishReason: result.finishReason, usage: result.usage };
  },

  async streamText() {
    const result = streamText({
      model,
      prompt: "Weather in Lima?",
      tools: { weather },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    const parts = [];
    for await (const part of result.fullStream) {
      if (part.type === "error") throw part.error;
      parts.push(part.type);
    }
    const steps = await result.steps;
    return {
      text: await result.text,
      steps: steps.length,
      toolResults: steps.flatMap((step) => step.toolResults.map((r) => r.output)),
      parts: [...new Set(parts)],
    };
  },

  async generateObject() {
    const result = await generateObject({
      model,
      schema: z.object({ answer: z.number() }),
      prompt: "6 x 7?",
      maxRetries: 0,
    });
    return { object: result.object };
  },
};

const name = process.argv[2];
try {
  console.log(JSON.stringify(await scenarios[name]()));
} catch (error) {
  console.error(String(error?.stack ?? error));
  if (error?.responseBody) console.error(error.responseBody);
  process.exit(1);
}
