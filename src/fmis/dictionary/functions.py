"""Menus and actions of the data dictionary (数据字典), under 系统管理."""

from fmis.iam.functions import Fn

ELEMENT_VIEW = "dictionary.element.view"
ELEMENT_MANAGE = "dictionary.element.manage"
VALUE_MANAGE = "dictionary.value.manage"
VALUE_IMPORT = "dictionary.value.import"
VALUE_EXPORT = "dictionary.value.export"
VALUE_RESTRUCTURE = "dictionary.value.restructure"
VERSION_MANAGE = "dictionary.version.manage"
VIEW_VIEW = "dictionary.view.view"
VIEW_MANAGE = "dictionary.view.manage"
PRELOAD = "dictionary.preload"

FUNCTIONS = [
    Fn("dictionary", "数据字典", "Data dictionary", "menu", "system", order=930),
    Fn(ELEMENT_VIEW, "数据项", "Data elements", "menu", "dictionary", "dictionary:elements", 931),
    Fn(ELEMENT_MANAGE, "数据项维护", "Manage data elements", "action", ELEMENT_VIEW),
    Fn(VALUE_MANAGE, "值集维护", "Manage value sets", "action", ELEMENT_VIEW),
    Fn(VALUE_IMPORT, "值集导入", "Import value sets", "action", ELEMENT_VIEW),
    Fn(VALUE_EXPORT, "值集导出", "Export value sets", "action", ELEMENT_VIEW),
    Fn(VALUE_RESTRUCTURE, "值合并与拆分", "Merge and split values", "action", ELEMENT_VIEW),
    Fn(VERSION_MANAGE, "版本管理", "Manage value versions", "action", ELEMENT_VIEW),
    Fn(PRELOAD, "装载标准值集", "Load standard value sets", "action", ELEMENT_VIEW),
    Fn(VIEW_VIEW, "数据项视图", "Data element views", "menu", "dictionary", "dictionary:views", 932),
    Fn(VIEW_MANAGE, "数据项视图维护", "Manage data element views", "action", VIEW_VIEW),
]
