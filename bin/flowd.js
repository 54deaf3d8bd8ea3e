#!/usr/bin/env node
import '../dist/flowd.mjs';
