// Svelte 5 with its default compiler options; TypeScript in <script lang="ts"> is
// stripped by the compiler itself.
export default {};
