export { ResNet, BasicBlock, resnet18, resnet34, type ResNetOptions, type Stem } from './resnet';
export { summary, type ModelSummary, type SummaryRow } from './summary';
export { KerasResNet18, kerasResNet18, kerasSummary, samePadding, type KerasLayer } from './keras-resnet';
