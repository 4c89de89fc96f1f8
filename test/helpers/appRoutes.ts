// The app's routes and document, built as the console's type generator builds them (tools/appDocument.ts).
export { appRoutesAndDocument } from '../../tools/appDocument.js';
