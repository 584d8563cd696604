// Runs the torchts CLI from source (tests): argv after the script name.
import { main } from '../../lib/cli';

main(process.argv.slice(1)).then((code) => process.exit(code));
