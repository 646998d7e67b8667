#!/usr/bin/env node
// The `renkei` command. TypeScript runs through tsx's loader, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
